"""Numbers and the files that hold them: top-k accuracy, GZSL and mean ± std
(:mod:`~actionhub.evaluation.metrics`, pure functions of tensors), run records and results files
(:mod:`~actionhub.evaluation.results`), sweep indexes (:mod:`~actionhub.evaluation.sweeps`)."""

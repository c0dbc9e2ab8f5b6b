"""Running experiments: the inputs of a run (:mod:`~actionhub.engine.inputs`), training with
epoch selection and resume (:mod:`~actionhub.engine.trainer`, :mod:`~actionhub.engine.schedule`),
zero-shot and GZSL evaluation (:mod:`~actionhub.engine.evaluate`, :mod:`~actionhub.engine.gzsl`),
saved models (:mod:`~actionhub.engine.checkpoint`), sweeps (:mod:`~actionhub.engine.sweep`) and
prediction on new videos (:mod:`~actionhub.engine.predict`)."""

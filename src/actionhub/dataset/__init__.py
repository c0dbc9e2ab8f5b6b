"""The ActionHub dataset pipeline (paper Sec. 3 and 4.3).

vocabulary (:mod:`~actionhub.dataset.vocab`: queries from the class names of seven datasets)
-> collection (:mod:`~actionhub.dataset.collect`: providers, the resumable runner)
-> the description store (:mod:`~actionhub.dataset.store`; :mod:`~actionhub.dataset.importer`
for released files) -> statistics (:mod:`~actionhub.dataset.stats`, Fig. 4/5 in
:mod:`~actionhub.dataset.stats_plots`) -> relevance ranking (:mod:`~actionhub.dataset.rank`,
averaged word vectors of :mod:`~actionhub.dataset.wordvec`) -> the top-k table that
:mod:`actionhub.text.build` turns into class text features.
"""

"""The trainable methods: CoCo (:mod:`~actionhub.models.coco`: projections in ``model.py``, the
losses of Eq. 3-15 in ``losses.py``), the baselines of Tables 2-3
(:mod:`~actionhub.models.baselines`, one file a method), and the registry that maps
``--method`` names to them (:mod:`~actionhub.models.registry`)."""

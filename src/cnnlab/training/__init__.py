"""Training, evaluation, prediction and export.

``config`` (the settings and their rules), ``recipes`` (each paper's), ``loop`` (the trainer and
:func:`~cnnlab.training.loop.train`), ``data`` (from a config to batches), ``checkpoint``, ``distributed``,
``schedule``, ``metrics``; and for a trained model: ``trained`` (loading it), ``evaluation``, ``prediction``
and ``export``. The package imports nothing itself, so that the command line can read the settings' tables
without loading torch.
"""

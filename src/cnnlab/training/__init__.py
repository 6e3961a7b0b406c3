"""Training, evaluation, prediction and export.

``config`` (the settings and their rules, each model's recipe read from its spec), ``loop`` (the trainer and
:func:`~cnnlab.training.loop.run_training`, which ``cnnlab.train`` calls), ``data`` (from a config to batches),
``distributed``, ``schedule``, ``metrics``; and for a trained model: ``trained`` (loading it), ``evaluation``,
``prediction`` and ``export``. The package imports nothing itself, so that the command line can read the
settings' tables without loading torch.
"""

"""The ``cnnlab`` command: ``main.py`` builds the parser, one module per subcommand."""

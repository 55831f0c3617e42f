"""The application shell: the ``cspermit`` command line that ties the packages together."""

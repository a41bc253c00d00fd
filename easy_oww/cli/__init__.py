"""The command-line interface: the only place that prints, draws bars or exits."""

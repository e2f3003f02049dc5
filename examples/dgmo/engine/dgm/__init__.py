"""DGM engine: the evolutionary search behind `dgmo evolve`."""

__version__ = "0.4.0"

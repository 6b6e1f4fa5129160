"""nuclass: classify neutrino interactions in NOvA-style detector images, and measure how well it works."""

__version__ = "0.1.0"
__all__ = ["__version__"]

"""nuclass: classify neutrino interactions in NOvA-style detector images, and measure how well it works.

`nuclass.pretrained()` is the multi-task network shipped in the package (nuclass.shipped), loaded on
first use so that `import nuclass` stays light.
"""

from nuclass.lazy import lazy_attributes

__version__ = "0.1.0"
__all__ = ["__version__", "pretrained"]

__getattr__ = lazy_attributes(__name__, {"pretrained": "nuclass.shipped"})

"""papernet: a compiler for the notation in which papers print convolutional networks.

import papernet
net = papernet.load("specs/vgg11.pn")   # or papernet.load("vgg16"), papernet.parse(text)
net.check()                              # list of diagnostics
net.summary()                            # a report: prints as a table, renders as HTML
model = net.to_keras()                   # keras.Model
source = net.to_source()                 # Python source
"""

from papernet.api import Network, SpecNotFound, load, parse
from papernet.diagnostics import Diagnostic, SpecError

__all__ = ["Diagnostic", "Network", "SpecError", "SpecNotFound", "load", "parse"]
__version__ = "0.1.0"

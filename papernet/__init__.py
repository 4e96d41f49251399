"""papernet: a compiler for the notation in which papers print convolutional networks.

import papernet
net = papernet.load("vgg11")            # a shipped spec, or a file: papernet.load("my_net.pn"), papernet.parse(text)
net.check()                              # list of diagnostics; print() shows them as `papernet check` does
net.summary()                            # a report: prints as a table, renders as HTML
model = net.to_keras()                   # keras.Model
source = net.to_source()                 # Python source
"""

from papernet.parser_cache import compiled_dataclasses

with compiled_dataclasses():  # a third of the time of a cold `papernet check` otherwise (bench/bench.py)
    from papernet.api import Network, SpecNotFound, load, parse
    from papernet.diagnostics import Diagnostic, Diagnostics, KerasNotInstalled, SpecError

__all__ = ["Diagnostic", "Diagnostics", "KerasNotInstalled", "Network", "SpecError", "SpecNotFound", "load", "parse"]
__version__ = "0.1.0"

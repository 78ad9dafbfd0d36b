"""Drawing the computation graph: ``graph(tensor)`` gives its Graphviz DOT text, and
``graph(tensor).render("graph.svg")`` draws it (with Graphviz's ``dot`` installed)::

    loss = F.cross_entropy(model(x), y)
    g = minicnn.viz.graph(loss, params=model)   # parameters named as in state_dict
    print(g)                                    # the DOT text
    g.render("graph.svg")                       # or .png, .pdf; .dot needs no Graphviz

In a Jupyter notebook a ``Graph`` that is a cell's last value draws itself (if ``dot`` is
installed).
"""

from .graph import Graph, graph

__all__ = ["Graph", "graph"]

"""trackio's names that have no working counterpart here, and what to use instead.

`placeholders` holds trackio's W&B placeholder classes (``Classes``, ``Graph``, ``Molecule``, ...):
constructing one raises `UnsupportedFeatureError` naming the alternative. `trackio_names` lists
every name of trackio 0.43's ``__all__`` with how it works here (the README's table is its text),
and the attributes of the ``trackio`` module that are trackio's own internals (its server, its
storage class) with the reason they are absent.

May import: the standard library and `errors`. Never the core, the store or the Hub.
"""

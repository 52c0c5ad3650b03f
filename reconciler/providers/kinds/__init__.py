"""What every kind of resource shares, knowing no particular kind: a kind's spec
(``spec``: its section, fields, removal verb, secrets and security meaning), the
security words a plan derives from that meaning in both directions (``security``),
and undo derived from the removal verb (``undo``).

A kind module (``providers/<api>/kinds/<kind>.py``) declares one ``Kind``; its
provider registers it in one tuple. Code moves here only when two kinds need it.
"""

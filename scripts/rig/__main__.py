"""`python -m rig start|stop|env|call …`: the rig's command line (see rig/__init__.py)."""
from rig import main

main()

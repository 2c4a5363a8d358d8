"""``python -m cli`` runs the ``resolve`` command."""

from cli import main

main()

"""``python -m genomics.cli``: the `genomics` command."""

from genomics.cli.app import main

raise SystemExit(main())

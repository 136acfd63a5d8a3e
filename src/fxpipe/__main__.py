from fxpipe.cli import main

raise SystemExit(main())

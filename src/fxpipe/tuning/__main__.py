from fxpipe.tuning.cli import main

raise SystemExit(main())

from edgedoctor.cli import main

raise SystemExit(main())

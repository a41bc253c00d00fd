"""`python -m easy_oww` runs the command-line interface."""

from easy_oww.cli.main import main

if __name__ == "__main__":
    main()

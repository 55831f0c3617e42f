from cspermit.cli import main

main()

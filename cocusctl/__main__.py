from cocusctl.cli import main

main()

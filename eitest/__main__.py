from eitest.cli import main

main()

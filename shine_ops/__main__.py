from shine_ops.cli import main

main()

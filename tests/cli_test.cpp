int dummy_cli_test;

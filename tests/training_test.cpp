int dummy_training_test;

int dummy_idx_test;

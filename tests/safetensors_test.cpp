int dummy_safetensors_test;

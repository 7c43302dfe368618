// Named datasets for `dltrain fetch NAME`: files, acceptable sizes and digests, and mirrors in
// the order they are tried. Digests are the publishers' (MD5 where that is all they publish); the
// Debian package dataset-fashion-mnist recompresses Fashion-MNIST, so its forms are listed too.
#include "dltrain/fetch.hpp"

namespace dltrain {

const std::vector<FetchCatalogEntry>& fetch_catalog() {
  static const std::vector<FetchCatalogEntry> all = {
      {"mnist",
       {{"train-images-idx3-ubyte.gz", {{9912422, "", "f68b3c2dcbeaaa9fbdd348bbdeb94873"}}},
        {"train-labels-idx1-ubyte.gz", {{28881, "", "d53e105ee54ea40749a09fcbcd1e9432"}}},
        {"t10k-images-idx3-ubyte.gz", {{1648877, "", "9fb629c4189551a2d022fa330f9573f3"}}},
        {"t10k-labels-idx1-ubyte.gz", {{4542, "", "ec29112dd5afa0611ce80d1b7f02629c"}}}},
       {"https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://yann.lecun.com/exdb/mnist/"},
       false},
      {"fashion-mnist",
       {{"train-images-idx3-ubyte.gz",
         {{-1, "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc", ""},
          {26421856, "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", ""}}},
        {"train-labels-idx1-ubyte.gz",
         {{-1, "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc", ""},
          {29491, "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", ""}}},
        {"t10k-images-idx3-ubyte.gz",
         {{-1, "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229", ""},
          {4422079, "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", ""}}},
        {"t10k-labels-idx1-ubyte.gz",
         {{-1, "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf", ""},
          {5125, "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", ""}}}},
       {"file:///usr/share/datasets/fashion-mnist/", "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
       false},
      {"kmnist",
       {{"train-images-idx3-ubyte.gz", {{-1, "", "bdb82020997e1d708af4cf47b453dcf7"}}},
        {"train-labels-idx1-ubyte.gz", {{-1, "", "e144d726b3acfaa3e44228e80efcd344"}}},
        {"t10k-images-idx3-ubyte.gz", {{-1, "", "5c965bf0a639b31b8f53240b1b52f4d7"}}},
        {"t10k-labels-idx1-ubyte.gz", {{-1, "", "7320c461ea6c1c855c0b718fb2a4b134"}}}},
       {"https://codh.rois.ac.jp/kmnist/dataset/kmnist/", "http://codh.rois.ac.jp/kmnist/dataset/kmnist/"},
       false},
      {"cifar10",
       {{"cifar-10-python.tar.gz", {{170498071, "", "c58f30108f718f92721af3b95e74349a"}}}},
       {"https://www.cs.toronto.edu/~kriz/"},
       true},
  };
  return all;
}

}  // namespace dltrain

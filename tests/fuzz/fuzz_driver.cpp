// Stand-in for libFuzzer in ordinary builds: replays every corpus file given on the command line,
// then a fixed number of deterministic mutations of them, through LLVMFuzzerTestOneInput.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> corpus;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) corpus.emplace_back("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::mt19937 rng(12345);
  std::size_t runs = 0;
  for (const auto& c : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());
    ++runs;
  }
  for (int i = 0; i < 20000; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t pos = rng() % s.size();
      switch (rng() % 4) {
        case 0:
          s[pos] = static_cast<char>(rng() % 256);
          break;
        case 1:
          s.erase(pos, 1 + rng() % 4);
          break;
        case 2:
          s.insert(pos, std::string(1 + rng() % 64, static_cast<char>("%(/{'\"\r\n"[rng() % 9])));
          break;
        case 3:
          s.insert(pos, s.substr(rng() % s.size(), 1 + rng() % 16));
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
    ++runs;
  }
  std::printf("fuzz driver: %zu inputs, no crash\n", runs);
  return 0;
}

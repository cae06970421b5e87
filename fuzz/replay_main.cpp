// Replays inputs through the fuzz targets without libFuzzer, in the normal
// (uninstrumented) build: `make test` runs every target over its in-tree
// corpus, its regression inputs and the generated binary seeds, so a parser
// change that breaks a target's invariants, or brings back a fixed finding,
// fails the ordinary suite. Each target's entry point is compiled under its
// own name (fuzz/CMakeLists.txt writes the table).
//
//   encmol_fuzz_replay TARGET [--seeds ROOT] PATH...
//     PATH: a file, or a directory of files; ROOT/TARGET, when it exists: the
//     seeds encmol_fuzz_seeds wrote for the target (not every target has some)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "encmol/core/file_io.hpp"
#include "replay_targets.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: encmol_fuzz_replay TARGET [--seeds ROOT] PATH...\n");
    return 2;
  }
  const std::string target = argv[1];
  const auto it = std::find_if(std::begin(kReplayTargets), std::end(kReplayTargets),
                               [&](const ReplayTarget& t) { return target == t.name; });
  if (it == std::end(kReplayTargets)) {
    std::fprintf(stderr, "encmol_fuzz_replay: no fuzz target named %s\n", target.c_str());
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int a = 2; a < argc; ++a) {
    fs::path p = argv[a];
    if (p == "--seeds" && a + 1 < argc) {
      p = fs::path(argv[++a]) / target;
      if (!fs::exists(p)) continue;
    }
    if (fs::is_directory(p)) {
      for (const auto& e : fs::directory_iterator(p))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else if (fs::is_regular_file(p)) {
      inputs.push_back(p);
    } else {
      std::fprintf(stderr, "encmol_fuzz_replay: %s does not exist\n", p.c_str());
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  if (inputs.empty()) {
    std::fprintf(stderr, "encmol_fuzz_replay: no inputs for %s\n", target.c_str());
    return 2;
  }
  for (const auto& p : inputs) {
    try {
      const auto bytes = encmol::core::read_file_bytes(p, std::uint64_t{64} << 20);
      it->run(bytes.data(), bytes.size());  // an input that breaks an invariant aborts
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s escaped the target: %s\n", target.c_str(), p.c_str(), e.what());
      return 1;
    }
  }
  std::printf("%s: replayed %zu inputs\n", target.c_str(), inputs.size());
  return 0;
}

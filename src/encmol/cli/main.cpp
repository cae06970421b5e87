// Entry point of the `encmol` executable; the commands live in cli/*.cpp.
#include "encmol/cli/app.hpp"

int main(int argc, char** argv) { return encmol::cli::run(argc, argv); }

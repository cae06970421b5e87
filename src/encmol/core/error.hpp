// Error types shared by every layer. Messages are meant for the user: they say
// what is wrong and, where possible, which file/line and what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace encmol {

/// Base of every exception encmol throws on purpose.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Malformed or unsupported input data (molecule files, CSVs, user arguments).
class InputError : public Error {
 public:
  using Error::Error;
};

/// A binary file or message that is corrupt, truncated, foreign or hostile.
class FormatError : public Error {
 public:
  using Error::Error;
};

/// Parameters that are inconsistent or cannot be met (CKKS, model, plan).
class ParameterError : public Error {
 public:
  using Error::Error;
};

/// A request that would weaken security (e.g. CKKS parameters below 128 bits).
class SecurityError : public Error {
 public:
  using Error::Error;
};

/// Operating-system level failure (cannot open, write or rename a file).
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace encmol

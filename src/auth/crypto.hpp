#pragma once
// Small cryptographic helpers on OpenSSL 3 for the identity store: randomness, encodings, digests,
// constant-time comparison, authenticated encryption of stored secrets, and atomic key files.

#include <filesystem>
#include <string>
#include <string_view>

namespace ds::auth {

// `n` bytes from the OS CSPRNG (RAND_bytes). Throws ds::Error(internal) if it fails.
std::string random_bytes(std::size_t n);
// A random identifier/secret: `n` random bytes, base64url without padding.
std::string random_token(std::size_t n = 32);
// A random RFC 4122 version-4 UUID, lower-case.
std::string random_uuid();

std::string base64url_encode(std::string_view bytes);
// Decodes base64url (padding optional). Returns false on an invalid character or length.
bool base64url_decode(std::string_view text, std::string& out);
std::string base64_encode(std::string_view bytes);

std::string sha256(std::string_view data);      // 32 raw bytes
std::string sha256_hex(std::string_view data);  // 64 lower-case hex digits
bool constant_time_equal(std::string_view a, std::string_view b);

// AES-256-GCM with a 32-byte key. seal() returns base64(nonce(12) || ciphertext || tag(16));
// `aad` is authenticated, not encrypted (binds a secret to its owner row). open() throws
// ds::Error(internal) when the text was tampered with or the key is wrong.
std::string seal(std::string_view key, std::string_view plaintext, std::string_view aad);
std::string open_sealed(std::string_view key, std::string_view sealed, std::string_view aad);

// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename) with
// permissions 0600. Creates the parent directory (0700) if needed. Throws ds::Error(internal).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);
// Whole file; throws ds::Error(internal) if it cannot be read.
std::string read_file(const std::filesystem::path& path);

// The 32-byte server secret key at `path`, created (random, 0600) on first use. Encrypts the S3
// secret keys in the store; every node of a scale-out deployment must share the same file.
std::string load_or_create_secret_key(const std::filesystem::path& path);

}  // namespace ds::auth

#pragma once
// The bounds on every input cenv accepts (DESIGN section 7, "every input is bounded"), in one
// place: the manifest reader, the API object decoder, JSON patch, the gRPC server and client,
// the watch server and the log store all take their limits from here. README "Limits" lists
// them for users.

#include <cstddef>

namespace cenv {

// Largest manifest file (or stdin) `cenv` reads: 16 MiB.
inline constexpr size_t kMaxManifestBytes = size_t{16} << 20;
// Deepest nesting of maps and lists in a manifest or an API object: 64 levels.
inline constexpr size_t kMaxNestingDepth = 64;
// Most nodes one manifest document may expand to, aliases included: 1,000,000. Stops an alias
// bomb ("billion laughs"). Also the most nodes a JSON patch may add to a document.
inline constexpr size_t kMaxNodesPerDocument = 1'000'000;
// Most nodes over all documents of one manifest: 5,000,000.
inline constexpr size_t kMaxNodesPerManifest = 5'000'000;
// Longest scalar (string) in a manifest: 1 MiB.
inline constexpr size_t kMaxScalarBytes = size_t{1} << 20;
// Largest module manifest (cenv-module.yaml): 256 KiB.
inline constexpr size_t kMaxModuleManifestBytes = size_t{256} << 10;

// Largest gRPC message the controller receives (one Apply with its module archives): 64 MiB.
// The client refuses to send more, naming the limit.
inline constexpr size_t kMaxRequestBytes = size_t{64} << 20;
// What one apply may carry in packed module folders: 48 MiB, to leave room in the request.
inline constexpr size_t kMaxPackedModuleBytes = size_t{48} << 20;
// Largest API object, as JSON text, the controller decodes: 16 MiB (a manifest's limit).
inline constexpr size_t kMaxObjectBytes = kMaxManifestBytes;

// Most operations in one JSON patch: 10,000.
inline constexpr size_t kMaxJsonPatchOperations = 10'000;

// Most Watch calls one client may have open on the controller at once: 64; one more is refused
// with RESOURCE_EXHAUSTED. Over TLS a client is the user its certificate names, however many
// connections it opens; on the unix socket (every connection has the same peer) it is the value
// of the metadata kClientMetadataKey, which the CLI sets to its process id.
inline constexpr size_t kMaxWatchesPerClient = 64;
inline constexpr char kClientMetadataKey[] = "cenv-client";

// Largest chunk of a log stored or streamed: 256 KiB. Longer output is split into several
// chunks (nothing is dropped).
inline constexpr size_t kMaxLogChunkBytes = size_t{256} << 10;

// Most bytes of `cenv run -i` input the controller holds for a process that has not read them
// yet: 4 MiB. A writer waits for room (kStdinWaitSeconds at most), then the Stdin call ends
// with RESOURCE_EXHAUSTED.
inline constexpr size_t kMaxPendingStdinBytes = size_t{4} << 20;
inline constexpr int kStdinWaitSeconds = 60;

}  // namespace cenv

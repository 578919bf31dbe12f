#include "backend/input_checks.h"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace ms4 {

namespace {

[[noreturn]] void fail(const std::string& why) { throw std::runtime_error("step: " + why); }

void checkRows(const int32_t* rows, int count, int T, const char* what) {
    if (count > 0 && rows == nullptr) fail(std::string(what) + " is missing");
    for (int i = 0; i < count; ++i) {
        if (rows[i] < 0 || rows[i] >= T) {
            fail(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(rows[i]) +
                 " is outside the step's " + std::to_string(T) + " tokens");
        }
    }
}

std::string at(const char* field, int64_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

[[noreturn]] void reject(const std::string& field, const std::string& why) { throw StepInputError(field, why); }

void requireArray(const void* p, int64_t count, const char* field) {
    if (count > 0 && p == nullptr) reject(field, "is missing");
}

// Entries of rows[0..count) lie in [0, T).
void checkRowsInStep(const int32_t* rows, int count, int T, const char* field) {
    requireArray(rows, count, field);
    for (int i = 0; i < count; ++i) {
        if (rows[i] < 0 || rows[i] >= T) {
            reject(at(field, i),
                   "= " + std::to_string(rows[i]) + " is outside the step's " + std::to_string(T) + " tokens");
        }
    }
}

}  // namespace

void checkStepBatch(const StepInputs& in, const StepLimits& lim) {
    const KvCacheShape& kv = lim.cache;
    if (kv.numBlocks < 1 || kv.blockSize < 1) reject("cache", "has no blocks");
    const int T = in.numTokens, S = in.numSeqs;
    if (lim.vocab < 1) reject("tokens", "cannot be checked against an empty vocabulary");
    if (T < 1) reject("tokens", "is empty: a step runs at least one token");
    if (lim.maxStepTokens > 0 && T > lim.maxStepTokens) {
        reject("tokens", "has " + std::to_string(T) + " entries; a step runs at most " +
                             std::to_string(lim.maxStepTokens) + " (the scratch arena's size)");
    }
    requireArray(in.tokens, T, "tokens");
    requireArray(in.positions, T, "positions");
    requireArray(in.slotMapping, T, "slotMapping");
    for (int t = 0; t < T; ++t) {
        if (in.tokens[t] < 0 || in.tokens[t] >= lim.vocab) {
            reject(at("tokens", t),
                   "= " + std::to_string(in.tokens[t]) + " is outside the vocabulary of " + std::to_string(lim.vocab));
        }
        if (in.positions[t] < 0) reject(at("positions", t), "= " + std::to_string(in.positions[t]) + " is negative");
    }

    if (S < 1) reject("seqStarts", "holds no sequence");
    if (in.maxBlocksPerSeq < 1)
        reject("maxBlocksPerSeq", "= " + std::to_string(in.maxBlocksPerSeq) + " is not positive");
    requireArray(in.seqStarts, S + 1, "seqStarts");
    requireArray(in.contextLens, S, "contextLens");
    requireArray(in.blockTables, static_cast<int64_t>(S) * in.maxBlocksPerSeq, "blockTables");
    if (in.seqStarts[0] != 0) reject("seqStarts[0]", "= " + std::to_string(in.seqStarts[0]) + " must be 0");
    if (in.seqStarts[S] != T) {
        reject(at("seqStarts", S),
               "= " + std::to_string(in.seqStarts[S]) + " must be the token count " + std::to_string(T));
    }
    const int64_t blockSize = kv.blockSize;
    const int64_t maxContext = static_cast<int64_t>(in.maxBlocksPerSeq) * blockSize;
    std::vector<int64_t> written;
    written.reserve(static_cast<size_t>(T));
    std::vector<int32_t> blocks;
    for (int s = 0; s < S; ++s) {
        const int64_t begin = in.seqStarts[s], end = in.seqStarts[s + 1], n = end - begin;
        if (n < 1) {
            reject(at("seqStarts", s + 1), "= " + std::to_string(end) + " leaves sequence " + std::to_string(s) +
                                               " without a new token (it starts at " + std::to_string(begin) + ")");
        }
        if (end > T) reject(at("seqStarts", s + 1), "= " + std::to_string(end) + " is past the token count");
        const int64_t len = in.contextLens[s];
        if (len < n) {
            reject(at("contextLens", s),
                   "= " + std::to_string(len) + " is less than the sequence's " + std::to_string(n) + " new tokens");
        }
        if (len > maxContext) {
            reject(at("contextLens", s), "= " + std::to_string(len) + " does not fit " +
                                             std::to_string(in.maxBlocksPerSeq) + " blocks of " +
                                             std::to_string(blockSize) + " slots (maxBlocksPerSeq)");
        }
        const int32_t* table = in.blockTables + static_cast<size_t>(s) * in.maxBlocksPerSeq;
        const int64_t used = (len + blockSize - 1) / blockSize;
        blocks.assign(table, table + used);
        for (int64_t b = 0; b < used; ++b) {
            if (table[b] < 0 || table[b] >= kv.numBlocks) {
                reject(at("blockTables", s * static_cast<int64_t>(in.maxBlocksPerSeq) + b),
                       "= " + std::to_string(table[b]) + " (sequence " + std::to_string(s) + ", block " +
                           std::to_string(b) + ") is outside the pool of " + std::to_string(kv.numBlocks) + " blocks");
            }
        }
        std::sort(blocks.begin(), blocks.end());
        const auto twice = std::adjacent_find(blocks.begin(), blocks.end());
        if (twice != blocks.end()) {
            reject("blockTables", "lists block " + std::to_string(*twice) + " twice for sequence " + std::to_string(s));
        }
        for (int64_t k = 0; k < n; ++k) {
            const int64_t t = begin + k, entry = len - n + k;
            const int64_t slot = in.slotMapping[t];
            if (slot == -1) continue;
            const int64_t expected = static_cast<int64_t>(table[entry / blockSize]) * blockSize + entry % blockSize;
            if (slot != expected) {
                reject(at("slotMapping", t), "= " + std::to_string(slot) + " is not the slot of entry " +
                                                 std::to_string(entry) + " of sequence " + std::to_string(s) +
                                                 " (its block table puts it at " + std::to_string(expected) +
                                                 "; -1 for none)");
            }
            written.push_back(slot);
        }
    }
    std::sort(written.begin(), written.end());
    const auto twice = std::adjacent_find(written.begin(), written.end());
    if (twice != written.end()) reject("slotMapping", "writes slot " + std::to_string(*twice) + " twice");

    if (in.numLogitRows < 0) reject("logitRows", "has a negative count");
    if (in.numInputRows < 0) reject("inputRows", "has a negative count");
    checkRowsInStep(in.logitRows, in.numLogitRows, T, "logitRows");
    checkRowsInStep(in.inputRows, in.numInputRows, T, "inputRows");
    if (in.numInputRows > 0) {
        if (in.inputEmbeddings == nullptr) reject("inputEmbeddings", "is missing");
        if (in.embeddingWidth != lim.hidden) {
            reject("inputEmbeddings", "rows have " + std::to_string(in.embeddingWidth) +
                                          " values; the hidden size is " + std::to_string(lim.hidden));
        }
        std::vector<int32_t> sorted(in.inputRows, in.inputRows + in.numInputRows);
        std::sort(sorted.begin(), sorted.end());
        const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
        if (dup != sorted.end()) reject("inputRows", "holds row " + std::to_string(*dup) + " twice");
    }
}

void checkLinearSource(const LinearSource& s) {
    if (s.rows <= 0 || s.cols <= 0) {
        throw std::runtime_error("prepareLinear: bad shape [" + std::to_string(s.rows) + ", " + std::to_string(s.cols) +
                                 "]");
    }
    if (s.data == nullptr) throw std::runtime_error("prepareLinear: weight data is null");
    if (s.format == WeightFormat::NVFP4) {
        if (s.blockScales == nullptr) throw std::runtime_error("prepareLinear: NVFP4 weight without block scales");
        if (s.cols % 16 != 0) {
            throw std::runtime_error("prepareLinear: NVFP4 weight cols (" + std::to_string(s.cols) +
                                     ") is not a multiple of 16");
        }
        if (!(s.scale != 0.0f)) throw std::runtime_error("prepareLinear: NVFP4 global scale is zero or NaN");
    }
}

StepLayout checkStepInputs(const StepInputs& in) {
    const int T = in.numTokens, S = in.numSeqs;
    if (T < 0 || S < 0 || in.numLogitRows < 0 || in.numInputRows < 0) fail("negative count");
    StepLayout layout;
    if (S > 0) {
        if (in.seqStarts == nullptr || in.contextLens == nullptr || in.blockTables == nullptr) {
            fail("seqStarts, contextLens and blockTables are required with sequences");
        }
        if (in.maxBlocksPerSeq < 1) fail("maxBlocksPerSeq must be positive");
        if (in.seqStarts[0] != 0 || in.seqStarts[S] != T) fail("seqStarts must run from 0 to the token count");
        // Every start is checked before any row is written: a start past the token count must not index past the
        // layout (int64: differences of int32 starts may not fit an int).
        for (int s = 0; s < S; ++s) {
            const int64_t begin = in.seqStarts[s], end = in.seqStarts[s + 1];
            if (end < begin || end > T) {
                fail("seqStarts is not non-decreasing within [0, " + std::to_string(T) + "] at sequence " +
                     std::to_string(s));
            }
            if (in.contextLens[s] < end - begin) {
                fail("sequence " + std::to_string(s) + " has more new tokens than cache entries");
            }
        }
        layout.seqOf.assign(T, 0);
        layout.visible.assign(T, 0);
        for (int s = 0; s < S; ++s) {
            const int begin = in.seqStarts[s], n = in.seqStarts[s + 1] - begin, len = in.contextLens[s];
            for (int k = 0; k < n; ++k) {
                layout.seqOf[begin + k] = s;
                layout.visible[begin + k] = len - n + k + 1;
            }
        }
    }
    checkRows(in.logitRows, in.numLogitRows, T, "logitRows");
    checkRows(in.inputRows, in.numInputRows, T, "inputRows");
    if (in.numInputRows > 0) {
        if (in.inputEmbeddings == nullptr || in.embeddingWidth < 1) fail("input embeddings are missing");
        std::vector<int32_t> sorted(in.inputRows, in.inputRows + in.numInputRows);
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) fail("inputRows holds a row twice");
    }
    return layout;
}

void checkStepAgainstCache(const StepInputs& b, const KvCacheShape& s, int layer, const MlaDims& d, const char* op) {
    auto bad = [&](const std::string& why) { throw std::runtime_error(std::string(op) + ": " + why); };
    if (layer < 0 || layer >= s.layers) bad("layer " + std::to_string(layer) + " is outside the cache");
    if (d.latent != s.latent || d.rope != s.rope) {
        bad("MLA dims (latent " + std::to_string(d.latent) + ", rope " + std::to_string(d.rope) +
            ") do not match the cache (" + std::to_string(s.latent) + ", " + std::to_string(s.rope) + ")");
    }
    if (b.numTokens > 0 && b.numSeqs == 0) bad("the step has tokens but no sequences");
    for (int q = 0; q < b.numSeqs; ++q) {
        if (b.contextLens[q] < 0) bad("sequence " + std::to_string(q) + " has a negative context length");
        // int64: a context length near INT_MAX must not overflow the rounding up.
        const int64_t blocks = (static_cast<int64_t>(b.contextLens[q]) + s.blockSize - 1) / s.blockSize;
        if (blocks > b.maxBlocksPerSeq)
            bad("sequence " + std::to_string(q) + " needs more blocks than maxBlocksPerSeq");
        for (int64_t i = 0; i < blocks; ++i) {
            const int blk = b.blockTables[static_cast<size_t>(q) * b.maxBlocksPerSeq + static_cast<size_t>(i)];
            if (blk < 0 || blk >= s.numBlocks) {
                bad("sequence " + std::to_string(q) + " block " + std::to_string(i) + " = " + std::to_string(blk) +
                    " is outside the pool");
            }
        }
    }
}

void checkKvCacheShape(const KvCacheShape& shape) {
    if (shape.layers <= 0 || shape.numBlocks <= 0 || shape.blockSize <= 0 || shape.latent <= 0 || shape.rope < 0) {
        throw std::runtime_error("allocKvCache: bad shape (layers " + std::to_string(shape.layers) + ", blocks " +
                                 std::to_string(shape.numBlocks) + ", block size " + std::to_string(shape.blockSize) +
                                 ", latent " + std::to_string(shape.latent) + ", rope " + std::to_string(shape.rope) +
                                 ")");
    }
    if (shape.dtype != KvDtype::F32 && shape.dtype != KvDtype::BF16) {
        throw std::runtime_error("allocKvCache: unknown KV dtype " + std::to_string(static_cast<int>(shape.dtype)));
    }
    const double bytes = static_cast<double>(shape.layers) * shape.numBlocks * shape.blockSize * shape.width() *
                         static_cast<double>(shape.bytesPerValue());
    if (bytes > static_cast<double>(SIZE_MAX) / 2 ||
        static_cast<double>(shape.numBlocks) * shape.blockSize > 2147483647.0) {
        throw std::runtime_error("allocKvCache: the cache is too large (" + std::to_string(bytes) + " bytes)");
    }
}

void checkSlots(const StepInputs& in, const KvCacheShape& s, int layer, const char* op) {
    const int T = in.numTokens;
    if (T > 0 && in.slotMapping == nullptr)
        throw std::runtime_error(std::string(op) + ": the step has no slot mapping");
    if (layer < 0 || layer >= s.layers) {
        throw std::runtime_error(std::string(op) + ": layer " + std::to_string(layer) + " outside [0, " +
                                 std::to_string(s.layers) + ")");
    }
    const int64_t slots = static_cast<int64_t>(s.numBlocks) * s.blockSize;
    for (int t = 0; t < T; ++t) {
        if (in.slotMapping[t] < -1 || in.slotMapping[t] >= slots) {
            throw std::runtime_error(std::string(op) + ": slot " + std::to_string(in.slotMapping[t]) +
                                     " outside the pool of " + std::to_string(slots) + " slots");
        }
    }
}

}  // namespace ms4

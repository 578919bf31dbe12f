#include "checks/op_checks.h"

#include "checks/op_cases.h"

namespace ms4::checks {

namespace {

constexpr WeightFormat kFormats[] = {WeightFormat::BF16, WeightFormat::FP8, WeightFormat::NVFP4};

// linear: K = 80 / 208 / 1008 are not multiples of 128 (nor of 32 / 64 for BF16 / FP8 rows)
void linearCases(Checker& c, WeightFormat f) {
    for (int T : {1, 3, 6, 17}) {
        checkLinear(c, f, T, 96, 80, false);
        checkLinear(c, f, T, 33, 208, true);
        checkLinear(c, f, T, 128, 128, false);
        checkLinear(c, f, T, 64, 4096, false);
    }
    checkLinear(c, f, 5, 300, 1008, true);
}

void moeCases(Checker& c, WeightFormat f) {
    for (int T : {1, 3, 17}) checkMoe(c, f, T, 128, 8, 4, 64, true, true);
    checkMoe(c, f, 6, 208, 8, 4, 80, true, true);
}

void visionCases(Checker& c) {
    for (int set = 0; set < visionImageSetCount(); ++set) {
        checkPatchRows(c, set, 3, 14);
        checkRope2d(c, set, 2, 16);
        checkVisionAttention(c, set, 2, 16);  // the tiny model's heads
        checkVisionAttention(c, set, 3, 12);  // a head size that is not a multiple of 8
    }
    checkPatchRows(c, kVisionSeveral, 2, 3);
    checkRope2d(c, kVisionLarge, 16, 64);
    checkVisionAttention(c, kVisionLarge, 16, 64);  // the real heads
    checkVisionAttention(c, kVisionLargeMany, 4, 64);
    for (int T : {1, 5, 33}) {
        checkSiluMul(c, T, 100);
        checkGelu(c, T, 64);
    }
    checkMergePatches(c, kVisionEven, 8, 2);
    checkMergePatches(c, kVisionSeveral, 5, 1);
    checkMergePatches(c, kVisionLarge, 4, 2);
    checkAddBias(c, 3, 40);
}

}  // namespace

void runFullSuite(Checker& c) {
    for (WeightFormat f : kFormats) {
        linearCases(c, f);
        if (f != WeightFormat::NVFP4) checkLinear(c, f, 3, 40, 100, true);  // K % 16 != 0
    }
    for (WeightFormat f : kFormats) checkLinearNonFinite(c, f, 40, 256);
    for (WeightFormat f : kFormats) {
        checkLinearBatchInvariance(c, f, 37, 71, f == WeightFormat::NVFP4 ? 1024 + 128 : 1040);
        checkLinearBatchInvariance(c, f, 64, 130, f == WeightFormat::NVFP4 ? 4096 : 1008);
    }
    for (WeightFormat f : kFormats) {
        for (int T : {1, 3, 17}) checkEmbed(c, f, T, 37, f == WeightFormat::NVFP4 ? 80 : 100, false);
        checkEmbed(c, f, 3, 11, 128, false);
        checkEmbed(c, f, 7, 37, 128, true);
    }
    for (int T : {1, 5}) checkGatherLogitRows(c, T, 100);
    for (int T : {1, 3, 17}) {
        checkRmsNorm(c, T, 128, false);
        checkRmsNorm(c, T, 100, true);
        checkRmsNorm(c, T, 4096, false);
    }
    for (int T : {1, 3, 17}) {
        checkRope(c, T, 4, 16, 32, 16);  // q of the tiny model: 4 heads, nope 16 then rope 16
        checkRope(c, T, 1, 32, 48, 16);  // k_pe after the latent (1 head)
        checkRope(c, T, 3, 0, 70, 64);
        checkQueryScale(c, T, 0.1);
    }
    checkQueryScale(c, 3, 0.0);
    for (int T : {1, 7}) {
        for (int bs : {4, 16}) {
            for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) {
                checkKvWrite(c, T, 32, 16, bs, dt);
                checkKvWrite(c, T, 40, 8, bs, dt);
            }
        }
    }
    for (int dims : {kTinyDims, kOddDims}) {
        for (int T : {1, 3, 17}) checkAbsorbProjections(c, dims, T);
    }
    for (bool expanded : {false, true}) {
        for (int dims : {kTinyDims, kOddDims}) {
            for (int b = 0; b < attentionBatchCount(); ++b) {
                for (int bs : {4, 16}) {
                    for (KvDtype dt : {KvDtype::F32, KvDtype::BF16})
                        checkAttention(c, expanded, dims, b, bs, dt, false);
                }
            }
        }
        checkAttention(c, expanded, kTinyDims, 1, 16, KvDtype::BF16, true);
        for (int b = kLongBatchesFrom; b < kLongBatchesFrom + attentionLongBatchCount(); ++b) {
            for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) {
                checkAttention(c, expanded, kTinyDims, b, 16, dt, false);
                // the expanded reference at real dims costs ~50k MACs per (head, entry): absorbed form only
                if (!expanded) checkAttention(c, expanded, kRealDims, b, 16, dt, false);
            }
        }
    }
    for (KvDtype dt : {KvDtype::F32, KvDtype::BF16}) checkAttentionBatchInvariance(c, dt);
    for (WeightFormat f : kFormats) moeCases(c, f);
    checkMoe(c, WeightFormat::BF16, 5, 128, 8, 2, 64, false, false);
    for (size_t n : {size_t{1}, size_t{1000}, size_t{65537}, size_t{300001}}) checkAdd(c, n);
    visionCases(c);
}

void runNvfp4Suite(Checker& c) {
    linearCases(c, WeightFormat::NVFP4);
    moeCases(c, WeightFormat::NVFP4);
    checkLinearBatchInvariance(c, WeightFormat::NVFP4, 11, 70, 4096);
    checkLinearNonFinite(c, WeightFormat::NVFP4, 40, 256);
}

}  // namespace ms4::checks

// How the absorbed MLA attention splits a step's work (docs/cuda-backend.md#attention): each token's visible cache
// entries are cut into partitions of kAttentionPartition entries (a function of its own context length only, so its
// result does not depend on the rest of the step); the (token, partition) tasks are numbered token by token; tokens go
// in groups whose tasks' partial results fit a budget. Host code, run by beginStep and the attention op and checked
// by cuda/layout/host_checks.cc.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace ms4::cuda {

constexpr int kAttentionPartition = 256;

inline int attentionParts(int visible) { return (visible + kAttentionPartition - 1) / kAttentionPartition; }

// firstTask[t] .. firstTask[t + 1]: the tasks of token t; taskToken[task]: its token.
inline void planAttentionTasks(const std::vector<int>& visible, std::vector<int32_t>& firstTask,
                               std::vector<int32_t>& taskToken) {
    firstTask.clear();
    taskToken.clear();
    for (size_t t = 0; t < visible.size(); ++t) {
        firstTask.push_back(static_cast<int32_t>(taskToken.size()));
        for (int p = 0; p < attentionParts(visible[t]); ++p) taskToken.push_back(static_cast<int32_t>(t));
    }
    firstTask.push_back(static_cast<int32_t>(taskToken.size()));
}

// Consecutive token ranges [first, second) whose tasks number at most budgetTasks (a token with more tasks than the
// budget forms a group alone).
inline std::vector<std::pair<int, int>> attentionGroups(const std::vector<int>& visible, int budgetTasks) {
    std::vector<std::pair<int, int>> groups;
    const int T = static_cast<int>(visible.size());
    for (int t0 = 0; t0 < T;) {
        int t1 = t0, tasks = 0;
        while (t1 < T && (t1 == t0 || tasks + attentionParts(visible[t1]) <= budgetTasks)) {
            tasks += attentionParts(visible[t1++]);
        }
        groups.emplace_back(t0, t1);
        t0 = t1;
    }
    return groups;
}

}  // namespace ms4::cuda

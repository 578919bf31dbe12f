// Small helpers for reading validated arguments out of JS objects (TypeError/RangeError with the field name).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ms4::js {

double number(const Napi::Object& o, const char* key, const std::string& where);
int integer(const Napi::Object& o, const char* key, const std::string& where, int64_t min, int64_t max);
bool boolean(const Napi::Object& o, const char* key);
std::string string(const Napi::Object& o, const char* key, const std::string& where);
Napi::Object object(const Napi::Object& o, const char* key, const std::string& where);
// Copies an Int32Array field; `expected` < 0 means any length.
std::vector<int32_t> int32s(const Napi::Object& o, const char* key, const std::string& where, int64_t expected = -1);
std::vector<double> float64s(const Napi::Object& o, const char* key, const std::string& where);
// Copies a Float32Array field; `expected` < 0 means any length.
std::vector<float> float32s(const Napi::Object& o, const char* key, const std::string& where, int64_t expected = -1);

}  // namespace ms4::js

#include "napi/js_args.h"

#include <cmath>

namespace ms4::js {

double number(const Napi::Object& o, const char* key, const std::string& where) {
    Napi::Value v = o.Get(key);
    if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), where + "." + key + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) throw Napi::RangeError::New(o.Env(), where + "." + key + " must be finite");
    return d;
}

int integer(const Napi::Object& o, const char* key, const std::string& where, int64_t min, int64_t max) {
    const double d = number(o, key, where);
    if (d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
        throw Napi::RangeError::New(o.Env(), where + "." + key + " must be an integer in [" + std::to_string(min) +
                                                 ", " + std::to_string(max) + "]");
    }
    return static_cast<int>(d);
}

bool boolean(const Napi::Object& o, const char* key) { return o.Get(key).ToBoolean(); }

std::string string(const Napi::Object& o, const char* key, const std::string& where) {
    Napi::Value v = o.Get(key);
    if (!v.IsString()) throw Napi::TypeError::New(o.Env(), where + "." + key + " must be a string");
    return v.As<Napi::String>().Utf8Value();
}

Napi::Object object(const Napi::Object& o, const char* key, const std::string& where) {
    Napi::Value v = o.Get(key);
    if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), where + "." + key + " must be an object");
    return v.As<Napi::Object>();
}

std::vector<int32_t> int32s(const Napi::Object& o, const char* key, const std::string& where, int64_t expected) {
    Napi::Value v = o.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw Napi::TypeError::New(o.Env(), where + "." + key + " must be an Int32Array");
    }
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    if (expected >= 0 && static_cast<int64_t>(a.ElementLength()) != expected) {
        throw Napi::RangeError::New(o.Env(), where + "." + key + " must have " + std::to_string(expected) +
                                                 " elements, has " + std::to_string(a.ElementLength()));
    }
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<double> float64s(const Napi::Object& o, const char* key, const std::string& where) {
    Napi::Value v = o.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw Napi::TypeError::New(o.Env(), where + "." + key + " must be a Float64Array");
    }
    Napi::Float64Array a = v.As<Napi::Float64Array>();
    return std::vector<double>(a.Data(), a.Data() + a.ElementLength());
}

std::vector<float> float32s(const Napi::Object& o, const char* key, const std::string& where, int64_t expected) {
    Napi::Value v = o.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
        throw Napi::TypeError::New(o.Env(), where + "." + key + " must be a Float32Array");
    }
    Napi::Float32Array a = v.As<Napi::Float32Array>();
    if (expected >= 0 && static_cast<int64_t>(a.ElementLength()) != expected) {
        throw Napi::RangeError::New(o.Env(), where + "." + key + " must have " + std::to_string(expected) +
                                                 " elements, has " + std::to_string(a.ElementLength()));
    }
    return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

}  // namespace ms4::js

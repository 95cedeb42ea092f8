{
  "targets": [
    {
      "target_name": "evonas_native",
      "sources": [
        "native/addon.cc",
        "native/dataset-wrap.cc",
        "native/engine-thread.cc",
        "native/net-wrap.cc",
        "native/ops.cc",
        "native/model.cc",
        "native/allocator.cc",
        "native/fused.cc",
        "native/conv.cc",
        "native/cpu.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs include_dirs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "<!@(node scripts/libtorch.mjs defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti", "-O3", "-ffp-contract=off", "-fopenmp", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": ["<!@(node scripts/libtorch.mjs libraries)", "-fopenmp"]
    }
  ]
}

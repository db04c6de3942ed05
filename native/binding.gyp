{
  "targets": [
    {
      "target_name": "tcpscope_bpf",
      "sources": ["src/addon.c", "src/object.c", "src/ring_reader.c", "src/maps.c", "src/errors.c", "src/programs.c", "src/btf_query.c"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}

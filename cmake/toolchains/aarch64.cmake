# Cross build for 64-bit ARM Linux with Debian's cross compiler, tests run under qemu-user:
#   apt-get install -y g++-aarch64-linux-gnu qemu-user
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(quanta_cross_triple aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${quanta_cross_triple}-gcc)
set(CMAKE_CXX_COMPILER ${quanta_cross_triple}-g++)

# ctest (and catch_discover_tests, at build time) run the aarch64 binaries through qemu; -L points
# it at the target's dynamic loader and libraries, which Debian's libc6-arm64-cross puts here.
set(quanta_cross_root /usr/${quanta_cross_triple})
find_program(QUANTA_QEMU_AARCH64 qemu-aarch64)
if(QUANTA_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${QUANTA_QEMU_AARCH64};-L;${quanta_cross_root})
endif()

# Libraries only from the target's tree: an x86-64 library in /usr/lib must never be linked.
# Headers and CMake package files also from the host: Debian installs the header-only packages
# quanta uses (xsimd, Eigen, Catch2, nlohmann_json) once, for every architecture, under
# /usr/include, /usr/share and /usr/lib/cmake. The cross compiler itself searches /usr/include
# after its own headers, so the target's libc and libstdc++ headers always come first. Packages
# installed for arm64 through multiarch (/usr/lib/aarch64-linux-gnu/cmake) are found as well.
set(CMAKE_FIND_ROOT_PATH ${quanta_cross_root})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

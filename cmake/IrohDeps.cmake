# Finds the six libraries irohd is built on. A missing one stops configure with the Debian
# package that provides it (scripts/install-deps installs all of them).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' "
                      "(or run scripts/install-deps)")
endif()

function(iroh_require_pkg target module debian_package)
  pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "Library '${module}' not found: install the Debian package "
                        "'${debian_package}' (or run scripts/install-deps)")
  endif()
  message(STATUS "Found ${module} ${${target}_VERSION}")
endfunction()

iroh_require_pkg(LIBUV libuv libuv1-dev)
iroh_require_pkg(NGTCP2 libngtcp2 libngtcp2-dev)
iroh_require_pkg(NGTCP2_GNUTLS libngtcp2_crypto_gnutls libngtcp2-crypto-gnutls-dev)
iroh_require_pkg(GNUTLS gnutls libgnutls28-dev)
iroh_require_pkg(SQLITE3 sqlite3 libsqlite3-dev)
iroh_require_pkg(SODIUM libsodium libsodium-dev)
iroh_require_pkg(JSONC json-c libjson-c-dev)
find_package(Threads REQUIRED)

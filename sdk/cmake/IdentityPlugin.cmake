# identity_add_plugin(<target> MANIFEST <plugin.json> [SCHEMAS <files…>] [MIGRATIONS <folder>]
#                     SOURCES <files…>)
#
# Builds a plugin library the host can load and unload cleanly: hidden visibility and no GNU unique
# symbols (otherwise dlclose is a no-op and a rebuilt plugin binds to the old image), a version script
# that exports only the manifest and the SDK version handshake, and no undefined symbols. It puts the
# library with its manifest under ${CMAKE_BINARY_DIR}/plugins/<target>/, and SCHEMAS (the files the
# manifest's config_schema refers to) under its schema/ folder. MIGRATIONS names a folder with one
# subfolder per SQL dialect (sqlite/, postgresql/) of NNNN_name.sql files: they are copied under the
# plugin's schema/ folder, where the manifest's "migrations" finds them ("schema/sqlite", …), and an
# edited or added migration is copied again at the next build.
#
# In this source tree it comes with the sdk/ folder; installed, with find_package(IdentitySDK). The
# version script is found beside this file, wherever the function is called from.

function(identity_add_plugin target)
    cmake_parse_arguments(ARG "" "MANIFEST;MIGRATIONS" "SOURCES;SCHEMAS" ${ARGN})
    if(NOT ARG_MANIFEST OR NOT ARG_SOURCES)
        message(FATAL_ERROR "identity_add_plugin(${target}) needs MANIFEST and SOURCES")
    endif()
    add_library(${target} MODULE ${ARG_SOURCES})
    target_link_libraries(${target} PRIVATE Identity::sdk)
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
    target_link_options(${target} PRIVATE
        -Wl,--version-script=${CMAKE_CURRENT_FUNCTION_LIST_DIR}/plugin-exports.map -Wl,--no-undefined)
    set_target_properties(${target} PROPERTIES
        CXX_VISIBILITY_PRESET hidden
        VISIBILITY_INLINES_HIDDEN ON
        LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins/${target})
    # Copied when CMake configures, and again whenever the file changes (configure_file makes the build
    # re-run CMake): an edited manifest or schema reaches the build even when no code changed.
    get_filename_component(manifest ${ARG_MANIFEST} ABSOLUTE)
    configure_file(${manifest} ${CMAKE_BINARY_DIR}/plugins/${target}/plugin.json COPYONLY)
    if(ARG_MIGRATIONS)
        get_filename_component(migrations ${ARG_MIGRATIONS} ABSOLUTE)
        file(GLOB_RECURSE migration_files CONFIGURE_DEPENDS RELATIVE ${migrations} ${migrations}/*.sql)
        foreach(file ${migration_files})
            configure_file(${migrations}/${file} ${CMAKE_BINARY_DIR}/plugins/${target}/schema/${file} COPYONLY)
        endforeach()
    endif()
    foreach(schema ${ARG_SCHEMAS})
        get_filename_component(schema_name ${schema} NAME)
        get_filename_component(schema ${schema} ABSOLUTE)
        configure_file(${schema} ${CMAKE_BINARY_DIR}/plugins/${target}/schema/${schema_name} COPYONLY)
    endforeach()
endfunction()

/* webpage.S — assets/upload.html embedded in the binary (see webserver.h). */
    .section .rodata
    .global streamlab_upload_html
    .global streamlab_upload_html_end
streamlab_upload_html:
    .incbin "assets/upload.html"
streamlab_upload_html_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits

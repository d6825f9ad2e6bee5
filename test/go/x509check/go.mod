module x509check

go 1.19

module zhifu

go 1.26

/* polyopt fake libc <ctype.h> */
int isdigit(int); int isalpha(int); int isspace(int); int toupper(int); int tolower(int);
